"""The pain policy: pure rules over reports and settings; no database, no service."""
