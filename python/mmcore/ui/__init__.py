"""Terminal dashboard, run recorder and run report; they only read the running system."""
