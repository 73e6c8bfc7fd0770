// SPDX-License-Identifier: MIT
// The demo access pass of qkms's dev chain (issue 16): an ERC-1155 token
// (EIP-1155, OpenZeppelin Contracts 5) with one pass per content id. The
// token id of content C is uint256(C), C being the 32-byte content id, so a
// node's access condition is either `balanceOf(wallet, uint256(C)) > 0` or
// `hasAccess(C, wallet)`. The owner (the dev chain's deployer) grants and
// revokes; a holder moves a pass with the ordinary safeTransferFrom, and the
// access goes with it. Compiled by deploy/chain/compile.ts into
// cli/dev-chain/artifacts.ts; never deployed outside a dev chain.
pragma solidity 0.8.37;

import {ERC1155} from "@openzeppelin/contracts/token/ERC1155/ERC1155.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

contract QkmsAccessPass is ERC1155, Ownable {
    /// No metadata URI: a pass is a bare capability, not a collectible.
    constructor() ERC1155("") Ownable(msg.sender) {}

    /// Gives `wallet` the pass of `contentId`. A no-op when it already holds
    /// one, so a grant leaves its balance at 1 (a transfer from another
    /// holder can still raise it). Minting to a contract calls its
    /// onERC1155Received, as ERC-1155 requires.
    function grant(address wallet, bytes32 contentId) external onlyOwner {
        uint256 id = uint256(contentId);
        if (balanceOf(wallet, id) == 0) {
            _mint(wallet, id, 1, "");
        }
    }

    /// Takes away every pass of `contentId` that `wallet` holds; a no-op when
    /// it holds none.
    function revoke(address wallet, bytes32 contentId) external onlyOwner {
        uint256 id = uint256(contentId);
        uint256 held = balanceOf(wallet, id);
        if (held != 0) {
            _burn(wallet, id, held);
        }
    }

    /// Whether `wallet` holds at least one pass of `contentId`.
    function hasAccess(bytes32 contentId, address wallet) external view returns (bool) {
        return balanceOf(wallet, uint256(contentId)) > 0;
    }
}
