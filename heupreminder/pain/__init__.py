"""Logged hip pain and what it does to exercise routines, on the database.

``records`` writes what a person logged (pain, done / skipped); ``decisions`` runs the pure
policy (``heupreminder.policy``) and stores what it decides; ``pauses`` says which pauses
are in force and what they cover; ``notices`` queues the messages about them; ``texts``
words those messages in Dutch and English; ``housekeeping`` is the service's
once-a-minute pain work; ``lookups`` finds the person or routine a request names.
"""
