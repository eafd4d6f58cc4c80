// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title SandboxERC20
/// @notice An ERC-20 for the local sandbox chain: fixed decimals, the owner mints and burns.
contract SandboxERC20 is ERC20, Ownable {
    uint8 private immutable _decimals;

    constructor(string memory name_, string memory symbol_, uint8 decimals_)
        ERC20(name_, symbol_)
        Ownable(msg.sender)
    {
        _decimals = decimals_;
    }

    function decimals() public view override returns (uint8) {
        return _decimals;
    }

    /// @notice Create `amount` base units for `to` (sandbox funding).
    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }

    /// @notice Destroy `amount` base units held by `from` (sandbox clean-up).
    function burn(address from, uint256 amount) external onlyOwner {
        _burn(from, amount);
    }
}

/// @title SandboxWETH
/// @notice Wrapped ether: 1:1 deposit and withdrawal of the native coin, plus owner minting.
contract SandboxWETH is SandboxERC20 {
    constructor() SandboxERC20("Wrapped Ether", "WETH", 18) {}

    receive() external payable {
        deposit();
    }

    function deposit() public payable {
        _mint(msg.sender, msg.value);
    }

    function withdraw(uint256 amount) external {
        _burn(msg.sender, amount);
        (bool ok, ) = payable(msg.sender).call{value: amount}("");
        require(ok, "WETH: ETH transfer failed");
    }
}
