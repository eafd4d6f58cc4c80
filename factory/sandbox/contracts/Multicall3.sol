// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

/// @title Multicall3 (sandbox implementation)
/// @notice Interface-compatible with the canonical Multicall3 deployed at
///         0xcA11bde05977b3631167028862bE2a173976CA11 on public chains, for the subset the
///         monitor uses: batch reads with per-call failure flags, plus block and balance
///         helpers so that one eth_call returns every read of a snapshot.
contract Multicall3 {
    struct Call3 {
        address target;
        bool allowFailure;
        bytes callData;
    }

    struct Result {
        bool success;
        bytes returnData;
    }

    /// @notice Call each target in turn; revert unless a failing call allows failure.
    function aggregate3(Call3[] calldata calls)
        external
        payable
        returns (Result[] memory returnData)
    {
        uint256 length = calls.length;
        returnData = new Result[](length);
        for (uint256 i = 0; i < length; i++) {
            Call3 calldata call = calls[i];
            (bool success, bytes memory ret) = call.target.call(call.callData);
            if (!success && !call.allowFailure) {
                revert("Multicall3: call failed");
            }
            returnData[i] = Result(success, ret);
        }
    }

    function getBlockNumber() external view returns (uint256) {
        return block.number;
    }

    function getCurrentBlockTimestamp() external view returns (uint256) {
        return block.timestamp;
    }

    function getChainId() external view returns (uint256) {
        return block.chainid;
    }

    function getEthBalance(address account) external view returns (uint256) {
        return account.balance;
    }
}
