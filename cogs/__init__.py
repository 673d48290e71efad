"""Features as discord.py cogs: each parses the interaction, calls the core, renders the reply."""
