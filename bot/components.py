"""Buttons and select menus that survive restarts: state lives in the custom_id, nothing is
kept per message.

Subclasses set a `template` regex for their custom_id and implement `run`; errors take the
same path as slash-command errors (a user error is one ephemeral sentence).
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import discord

from bot import templates
from bot.interaction_errors import report_interaction_error


class _Owned:
    """What an item only the person named in its custom_id may use does when used."""

    owner_id: int
    custom_id: str
    not_yours: ClassVar[str] = templates.NOT_YOUR_BUTTON

    async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        if interaction.user.id != self.owner_id:
            await interaction.response.send_message(self.not_yours, ephemeral=True)
            return False
        return True

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        try:
            await self.run(interaction)
        except Exception as error:
            await report_interaction_error(interaction, error, f"component {self.custom_id}")

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        raise NotImplementedError


class OwnedButton(_Owned, discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"^$"):
    """A button only the person named in its custom_id may press."""

    owner_group: ClassVar[str] = "user"

    def __init__(
        self,
        custom_id: str,
        *,
        label: str,
        style: discord.ButtonStyle,
        owner_id: int,
        disabled: bool = False,
    ) -> None:
        super().__init__(
            discord.ui.Button(label=label, style=style, custom_id=custom_id, disabled=disabled)
        )
        self.owner_id = owner_id

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> OwnedButton:
        return cls.from_match(match)

    @classmethod
    def from_match(cls, match: re.Match[str]) -> OwnedButton:
        raise NotImplementedError


class OwnedSelect(_Owned, discord.ui.DynamicItem[discord.ui.Select[Any]], template=r"^$"):
    """A select menu only the person named in its custom_id may use.

    Built again from the custom_id when used, so only `values` (what was picked) is known
    then, not the options it was sent with."""

    not_yours: ClassVar[str] = templates.NOT_YOUR_MENU

    def __init__(
        self,
        custom_id: str,
        *,
        owner_id: int,
        placeholder: str | None = None,
        options: list[discord.SelectOption] | None = None,
    ) -> None:
        super().__init__(
            discord.ui.Select(custom_id=custom_id, placeholder=placeholder, options=options or [])
        )
        self.owner_id = owner_id

    @property
    def values(self) -> list[str]:
        return self.item.values

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> OwnedSelect:
        return cls.from_match(match)

    @classmethod
    def from_match(cls, match: re.Match[str]) -> OwnedSelect:
        raise NotImplementedError
