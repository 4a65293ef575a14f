# fcgi/: see its issue.
