"""On-chain and transfer position interfaces over web3: abi, rpc, plans, pending."""
