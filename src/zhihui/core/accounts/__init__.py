"""Users, organisations (a tree: city -> districts/counties -> departments), memberships with
roles, and API tokens. Art. 7: the big-data bureau operates the platform (role ``sysadmin``)."""
