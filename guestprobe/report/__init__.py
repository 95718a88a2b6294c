"""Reporting: the JSON document, its schema, the table and the output files."""
