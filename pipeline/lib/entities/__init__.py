"""Entities: the tagger (finders, canonical ids, catalog) and its evaluation."""
