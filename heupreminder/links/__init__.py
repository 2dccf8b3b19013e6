"""Signed links: the check-in key and signer, history links, one-tap answer links."""
