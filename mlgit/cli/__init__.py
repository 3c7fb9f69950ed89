"""The command line: argument tables, dispatch, and the one place exit codes are chosen."""
