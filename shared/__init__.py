"""The project's own package: what every step or tool uses that is not a lesson."""
