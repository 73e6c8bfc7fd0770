// SPDX-License-Identifier: MIT
// A minimal stand-in for Multicall3 (https://www.multicall3.com), written for
// qkms's dev chain: only the ABI of `aggregate3` (the function viem's
// `multicall` calls) and `getBlockNumber`. The dev chain puts this
// contract's runtime code at Multicall3's canonical address,
// 0xcA11bde05977b3631167028862bE2a173976CA11, with anvil_setCode, so a
// client's default multicall works there as on a public chain. It has no
// constructor and no storage, which is what makes anvil_setCode enough.
pragma solidity 0.8.37;

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

    /// Calls each target in order with its callData (no value). A failed call
    /// whose allowFailure is false reverts the whole batch with Multicall3's
    /// message; otherwise its failure and revert data are returned.
    /// Payable for ABI compatibility; the value stays in this contract.
    function aggregate3(Call3[] calldata calls) external payable returns (Result[] memory results) {
        uint256 count = calls.length;
        results = new Result[](count);
        for (uint256 i = 0; i < count; ++i) {
            Call3 calldata item = calls[i];
            (bool success, bytes memory returnData) = item.target.call(item.callData);
            if (!success && !item.allowFailure) {
                revert("Multicall3: call failed");
            }
            results[i] = Result(success, returnData);
        }
    }

    /// The number of the block the call runs in.
    function getBlockNumber() external view returns (uint256 blockNumber) {
        blockNumber = block.number;
    }
}
