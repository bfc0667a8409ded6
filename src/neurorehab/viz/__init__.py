"""Figures (matplotlib) and the self-contained HTML report; reads run folders, never simulates."""
