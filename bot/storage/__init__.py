"""The database: the store of conversations, requests and replies owed, its engines and
sessions, the encryption of what it keeps, and the schema's migrations."""
