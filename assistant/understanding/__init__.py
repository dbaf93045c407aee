"""Understanding: sentences -> intent calls -> executor actions and a reply."""
