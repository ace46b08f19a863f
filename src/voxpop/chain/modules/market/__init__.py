"""The data market: buyers escrow offers for data; sellers are paid per accessed object."""
