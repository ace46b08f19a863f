"""Payment channels: a payer's deposit that a provider draws on with the payer's vouchers."""
