"""Embeds for entries and stats: user text made safe, every Discord limit respected."""

from __future__ import annotations

from datetime import date

import discord

from bot import templates
from bot.entries import (
    FEEDBACK_LABELS,
    STAGE_LABELS,
    THEME_LABELS,
    Entry,
    EntryStats,
    FeedbackStatus,
)
from bot.text import defuse_mentions, one_line, safe, truncate

FIELD_VALUE_MAX = 1024
TITLE_MAX = 256
DESCRIPTION_MAX = 4096
BRAND_COLOUR = discord.Colour(0x5865F2)


def short_date(value: date) -> str:
    return value.isoformat()


def feedback_text(entry: Entry) -> str:
    text = FEEDBACK_LABELS[entry.feedback_status]
    if entry.feedback_theme is not None:
        text += f" · {THEME_LABELS[entry.feedback_theme]}"
    return text


def entry_embed(entry: Entry, *, description: str | None = None) -> discord.Embed:
    embed = discord.Embed(
        # Titles render no headings or mentions, but keep the text itself mention-free.
        title=truncate(
            defuse_mentions(
                templates.ENTRY_TITLE.format(number=entry.number, company=one_line(entry.company))
            ),
            TITLE_MAX,
        ),
        description=description,
        colour=BRAND_COLOUR,
    )
    # The title is not markdown-rendered, but field values are: escape them.
    embed.add_field(
        name=templates.ENTRY_FIELD_ROLE,
        value=safe(entry.role or templates.NOT_SET, FIELD_VALUE_MAX),
    )
    embed.add_field(name=templates.ENTRY_FIELD_STAGE, value=STAGE_LABELS[entry.stage])
    embed.add_field(name=templates.ENTRY_FIELD_DATE, value=short_date(entry.rejected_on))
    if entry.interviewer:
        embed.add_field(
            name=templates.ENTRY_FIELD_INTERVIEWER, value=safe(entry.interviewer, FIELD_VALUE_MAX)
        )
    embed.add_field(name=templates.ENTRY_FIELD_FEEDBACK, value=feedback_text(entry))
    if entry.feedback_summary:
        embed.add_field(
            name=templates.ENTRY_FIELD_FEEDBACK_SUMMARY,
            value=safe(entry.feedback_summary, FIELD_VALUE_MAX),
            inline=False,
        )
    if entry.notes:
        embed.add_field(
            name=templates.ENTRY_FIELD_NOTES, value=safe(entry.notes, FIELD_VALUE_MAX), inline=False
        )
    return embed


def list_row(entry: Entry) -> str:
    role = f" — {safe(entry.role, 60)}" if entry.role else ""
    feedback = FEEDBACK_LABELS[entry.feedback_status].lower()
    if entry.feedback_status == FeedbackStatus.NOT_ASKED:
        feedback = templates.LIST_NOT_ASKED
    return templates.LIST_ROW.format(
        number=entry.number,
        company=safe(entry.company, 100),
        role=role,
        stage=STAGE_LABELS[entry.stage],
        date=short_date(entry.rejected_on),
        feedback=feedback,
    )


def list_embed(entries: list[Entry], page: int, pages: int, total: int) -> discord.Embed:
    if not entries:
        return discord.Embed(
            title=templates.LIST_TITLE, description=templates.fill(templates.LIST_EMPTY)
        )
    embed = discord.Embed(
        title=templates.LIST_TITLE,
        description=truncate("\n".join(list_row(entry) for entry in entries), DESCRIPTION_MAX),
        colour=BRAND_COLOUR,
    )
    embed.set_footer(
        text=templates.LIST_FOOTER.format(
            page=page, pages=pages, total=templates.plural(total, "entry", "entries")
        )
    )
    return embed


def stats_embed(stats: EntryStats) -> discord.Embed:
    if stats.total == 0:
        return discord.Embed(
            title=templates.STATS_TITLE, description=templates.fill(templates.STATS_EMPTY)
        )
    embed = discord.Embed(title=templates.STATS_TITLE, colour=BRAND_COLOUR)
    embed.add_field(name=templates.STATS_TOTAL, value=str(stats.total))
    embed.add_field(
        name=templates.STATS_BY_STAGE,
        value="\n".join(
            templates.STATS_COUNT_ROW.format(label=STAGE_LABELS[stage], count=count)
            for stage, count in stats.by_stage
        ),
    )
    months = "\n".join(
        templates.STATS_MONTH_ROW.format(
            month=templates.month_label(int(month[:4]), int(month[5:7])),
            bar="▇" * min(count, 20),
            count=count,
        )
        for month, count in stats.by_month
    )
    embed.add_field(
        name=templates.STATS_BY_MONTH, value=truncate(months, FIELD_VALUE_MAX), inline=False
    )
    embed.add_field(
        name=templates.STATS_FEEDBACK,
        value=templates.STATS_FEEDBACK_LINE.format(
            asked=stats.asked,
            total=stats.total,
            asked_rate=stats.asked_rate,
            received=stats.received,
            received_rate=stats.received_rate,
        ),
        inline=False,
    )
    themes = "\n".join(
        templates.STATS_COUNT_ROW.format(label=THEME_LABELS[theme], count=count)
        for theme, count in stats.top_themes
    )
    embed.add_field(
        name=templates.STATS_THEMES, value=themes or templates.STATS_NO_THEMES, inline=False
    )
    return embed
