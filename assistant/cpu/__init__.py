"""Who gets the CPU: thread budgets for the engines, and the utterance first.

`budget.py` decides how many threads each engine may start on this machine;
`foreground.py` holds background work (prompt preparation, phrase lists) at
idle priority and at safe points while a command is heard and understood.
"""
