// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title MockAggregator
/// @notice A Chainlink-style price feed whose answer the owner sets; AaveOracle reads
///         `latestAnswer()`.
contract MockAggregator is Ownable {
    uint8 public immutable decimals;
    string public description;
    int256 private _answer;
    uint256 private _updatedAt;
    uint80 private _roundId;

    event AnswerUpdated(int256 indexed current, uint256 indexed roundId, uint256 updatedAt);

    constructor(uint8 decimals_, string memory description_, int256 initialAnswer)
        Ownable(msg.sender)
    {
        decimals = decimals_;
        description = description_;
        _set(initialAnswer);
    }

    function setAnswer(int256 answer) external onlyOwner {
        _set(answer);
    }

    function latestAnswer() external view returns (int256) {
        return _answer;
    }

    function latestTimestamp() external view returns (uint256) {
        return _updatedAt;
    }

    function latestRound() external view returns (uint256) {
        return _roundId;
    }

    function latestRoundData()
        external
        view
        returns (
            uint80 roundId,
            int256 answer,
            uint256 startedAt,
            uint256 updatedAt,
            uint80 answeredInRound
        )
    {
        return (_roundId, _answer, _updatedAt, _updatedAt, _roundId);
    }

    function _set(int256 answer) private {
        _answer = answer;
        _updatedAt = block.timestamp;
        _roundId += 1;
        emit AnswerUpdated(answer, _roundId, block.timestamp);
    }
}
