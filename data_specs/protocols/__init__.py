"""The pinned evaluation protocols, installed as package data (``handeval.protocols`` reads them)."""
