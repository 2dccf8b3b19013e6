"""The pain policy: when logged hip pain pauses exercise routines, and when they resume.

``policy`` holds the pure decision logic (no I/O, no clock reads); ``texts`` holds the
messages a person (and optionally a caregiver) receives about a pause, in Dutch and English.
"""
