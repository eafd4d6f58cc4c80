// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

import {SandboxERC20} from "./SandboxTokens.sol";

/// @title SandboxWeETH
/// @notice ether.fi weETH stand-in: `getRate()` is eETH per weETH (1e18), set by the owner.
contract SandboxWeETH is SandboxERC20 {
    uint256 private _rate;

    event RateUpdated(uint256 rate);

    constructor(uint256 initialRate) SandboxERC20("Wrapped eETH", "weETH", 18) {
        _rate = initialRate;
    }

    function getRate() external view returns (uint256) {
        return _rate;
    }

    function setRate(uint256 newRate) external onlyOwner {
        require(newRate > 0, "weETH: rate must be positive");
        _rate = newRate;
        emit RateUpdated(newRate);
    }
}

/// @title SandboxWstETH
/// @notice Lido wstETH stand-in: `stEthPerToken()` (1e18) set by the owner.
contract SandboxWstETH is SandboxERC20 {
    uint256 private _stEthPerToken;

    event StEthPerTokenUpdated(uint256 stEthPerToken);

    constructor(uint256 initialStEthPerToken)
        SandboxERC20("Wrapped liquid staked Ether 2.0", "wstETH", 18)
    {
        _stEthPerToken = initialStEthPerToken;
    }

    function stEthPerToken() external view returns (uint256) {
        return _stEthPerToken;
    }

    function setStEthPerToken(uint256 newValue) external onlyOwner {
        require(newValue > 0, "wstETH: rate must be positive");
        _stEthPerToken = newValue;
        emit StEthPerTokenUpdated(newValue);
    }
}
