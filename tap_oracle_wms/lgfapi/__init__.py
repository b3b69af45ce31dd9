"""The lgfapi client: sessions, credentials, retries, paging and counts, with nothing of Singer in it."""
