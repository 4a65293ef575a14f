# console/: see its issue.
