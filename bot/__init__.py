"""NextRound: a Discord bot that makes rejection in a job search normal, useful and short-lived."""

__version__ = "0.1.0"
