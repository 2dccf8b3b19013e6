"""Links and tokens that let people in.

Check-in and one-tap answer links (signed, expiring), the read-only history
link and its calendar feed, and the write-capable API tokens.
"""
