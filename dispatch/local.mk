# dispatch/: see its issue.
