"""Forms (modals) that survive restarts and never throw away what was typed.

A form is described once (`Form`): its modal, who may send it, and what sending it does.
Nothing is kept in memory per open form: the modal's custom_id names the form, what it is
about and the draft it was opened from, so whichever process receives the submission handles
it, before or after a restart. When a submission is refused, what was typed is kept in the
database for `DRAFT_MINUTES` and the reply carries "Edit and try again": pressing it opens the
same form again, filled in (a modal may only be the first response to a component, so the
button's answer is the modal itself).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

import discord

from bot import templates
from bot.clock import Clock
from bot.components import OwnedButton
from bot.db import Database
from bot.db import drafts as draft_store
from bot.db.connection import now_ms
from bot.interaction_errors import error_message, report_interaction_error
from bot.limits import fits_a_row

log = logging.getLogger("nextround.forms")

DRAFT_MINUTES = 60
DRAFT_TTL_MS = DRAFT_MINUTES * 60_000

MODAL_ID = "nr:form:{form}:{subject}:{draft}"
MODAL_PATTERN = re.compile(
    r"^nr:form:(?P<form>[a-z-]{1,20}):(?P<subject>[A-Za-z0-9]{0,20}):(?P<draft>\d{1,19})$"
)
RETRY_PATTERN = r"^nr:form-retry:(?P<user>\d+):(?P<draft>\d+)$"

# What was typed, by input custom_id: the text of a text input, the values of a select.
Fields = dict[str, Any]


def text_of(fields: Mapping[str, Any], name: str) -> str:
    value = fields.get(name)
    return value if isinstance(value, str) else ""


def choices_of(fields: Mapping[str, Any], name: str) -> list[str]:
    value = fields.get(name)
    return [str(item) for item in value] if isinstance(value, list) else []


def submitted_fields(components: Sequence[Mapping[str, Any]]) -> Fields:
    """What a modal submission carries, flattened: rows and labels hold the inputs."""
    found: Fields = {}
    for component in components:
        if "components" in component:  # an action row
            found.update(submitted_fields(component["components"]))
        elif "component" in component:  # a label around one input
            found.update(submitted_fields([component["component"]]))
        elif "custom_id" in component:
            if "values" in component:
                found[component["custom_id"]] = [str(value) for value in component["values"]]
            else:
                found[component["custom_id"]] = str(component.get("value") or "")
    return found


class Form:
    """One kind of form. Subclasses set `name` and build the modal; `submit` raises a
    `UserError` to refuse (the person then gets the sentence and the button to try again)."""

    name: str

    def modal(
        self, custom_id: str, subject: str | None, fields: Mapping[str, Any]
    ) -> discord.ui.Modal:
        """The modal, with `fields` (what was typed before, or the current values) filled in."""
        raise NotImplementedError

    async def check(self, interaction: discord.Interaction[Any], subject: str | None) -> None:
        """Refuse (raise) a person who may not use this form here; nothing is kept for them."""

    async def submit(
        self, interaction: discord.Interaction[Any], subject: str | None, fields: Fields
    ) -> None:
        raise NotImplementedError


class Forms:
    def __init__(self, database: Database, clock: Clock) -> None:
        self.database = database
        self.clock = clock
        self._forms: dict[str, Form] = {}

    def register(self, form: Form) -> None:
        self._forms[form.name] = form

    def unregister(self, name: str) -> None:
        self._forms.pop(name, None)

    async def open(
        self,
        interaction: discord.Interaction[Any],
        name: str,
        *,
        subject: str | None = None,
        fields: Mapping[str, Any] | None = None,
        draft_id: int = 0,
    ) -> None:
        """Show form `name` as this interaction's response, filled in with `fields`."""
        custom_id = MODAL_ID.format(form=name, subject=subject or "", draft=draft_id)
        modal = self._forms[name].modal(custom_id, subject, fields or {})
        # A stopped modal is one discord.py keeps nothing of: its submission comes back as a
        # plain interaction, which `handle_submit` answers from the custom_id alone.
        modal.stop()
        await interaction.response.send_modal(modal)

    async def handle_submit(self, interaction: discord.Interaction[Any]) -> bool:
        """Answer a submitted NextRound form; False if the submission is not one of ours."""
        data: Mapping[str, Any] = interaction.data or {}
        match = MODAL_PATTERN.match(str(data.get("custom_id", "")))
        form = self._forms.get(match["form"]) if match else None
        if match is None or form is None:
            return False
        subject = match["subject"] or None
        draft_id = int(match["draft"])
        where = f"the {form.name} form"
        try:
            await form.check(interaction, subject)
        except Exception as error:
            await report_interaction_error(interaction, error, where)
            return True
        fields = submitted_fields(data.get("components") or [])
        try:
            await form.submit(interaction, subject, fields)
        except Exception as error:
            if interaction.response.is_done():
                # It was answered (the entry was saved, say): nothing to try again.
                await report_interaction_error(interaction, error, where)
            else:
                await self.refuse(
                    interaction, form.name, error, subject=subject, fields=fields, draft_id=draft_id
                )
            return True
        if draft_id:
            try:
                await draft_store.delete_draft(self.database, draft_id, interaction.user.id)
            except Exception:
                # It expires by itself; the person's form went through either way.
                log.exception("could not delete form draft %d", draft_id)
        return True

    async def refuse(
        self,
        interaction: discord.Interaction[Any],
        name: str,
        error: Exception,
        *,
        subject: str | None = None,
        fields: Fields,
        draft_id: int = 0,
    ) -> None:
        """Answer a refused submission with why, keeping `fields` as a draft of form `name`
        behind an "Edit and try again" button. Also for a slash command whose options the
        form can hold: what was typed there is not lost either."""
        where = f"the {name} form"
        problem = error_message(interaction, error, where)
        now = now_ms(self.clock)
        try:
            kept = await draft_store.save_draft(
                self.database,
                draft_id=draft_id if fits_a_row(draft_id) and draft_id else None,
                user_id=interaction.user.id,
                form=name,
                subject=subject,
                guild_id=interaction.guild_id,
                fields=fields,
                now=now,
                expires_at=now + DRAFT_TTL_MS,
            )
        except Exception:
            log.exception("could not keep a draft of %s", where)
            await report_interaction_error(interaction, error, where)
            return
        view = discord.ui.View(timeout=None)
        view.add_item(FormRetryButton(interaction.user.id, kept))
        await interaction.response.send_message(
            templates.FORM_KEPT.format(
                problem=problem, minutes=DRAFT_MINUTES, button=templates.FORM_RETRY
            ),
            view=view,
            ephemeral=True,
        )

    async def reopen(
        self, interaction: discord.Interaction[Any], user_id: int, draft_id: int
    ) -> None:
        """ "Edit and try again": the form again, with what was typed."""
        draft = None
        if fits_a_row(draft_id):
            draft = await draft_store.get_draft(
                self.database, draft_id, user_id, now_ms(self.clock)
            )
        form = self._forms.get(draft.form) if draft is not None else None
        if draft is None or form is None or draft.guild_id != interaction.guild_id:
            await interaction.response.send_message(
                templates.FORM_DRAFT_GONE.format(minutes=DRAFT_MINUTES), ephemeral=True
            )
            return
        await form.check(interaction, draft.subject)
        await self.open(
            interaction, form.name, subject=draft.subject, fields=draft.fields, draft_id=draft.id
        )


class FormRetryButton(OwnedButton, template=RETRY_PATTERN):
    """ "Edit and try again" under a refused form; it names the draft and its owner."""

    def __init__(self, owner_id: int, draft_id: int) -> None:
        super().__init__(
            f"nr:form-retry:{owner_id}:{draft_id}",
            label=templates.FORM_RETRY,
            style=discord.ButtonStyle.primary,
            owner_id=owner_id,
        )
        self.draft_id = draft_id

    @classmethod
    def from_match(cls, match: re.Match[str]) -> FormRetryButton:
        return cls(int(match["user"]), int(match["draft"]))

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        forms: Forms = interaction.client.forms
        await forms.reopen(interaction, self.owner_id, self.draft_id)
