"""Merchandising rules (issue 17): boost, bury, pin and exclude in recommendation widgets.

- ``apply``: the pure part (no app, no database, no clock): which rules are in force, and what
  they do to a widget's ranked candidates;
- ``serving``: the rules of a widget in a web worker, kept per catalog version;
- ``management``: the admin's list (with impressions touched), create, edit, switch, delete.
"""
