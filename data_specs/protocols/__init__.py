"""The pinned evaluation protocols, installed as package data (``handeval.scoring.protocols`` reads them)."""
