"""Who wrote which part of a text, by mail conventions: the principal's own words, then
each quoted or forwarded part with the author it claims.

Reading these conventions is heuristic, so every doubt falls on the safe side. Once a text
starts quoting or forwarding (a `>` line; an "On ... wrote:" attribution; a "Forwarded
message" or "Original Message" separator; "Begin forwarded message:"; an Outlook-style
From/Sent header block, in any language when it names an address or sits under a rule
line), everything after it is someone else's text, unquoted-looking lines included: they
may be the quoted message's own lines, or a mail client's rendering of HTML that closed the
quote early. The principal's own words are what stands before. A misread own line costs a
confirmation; someone else's line misread as the principal's could pick a recipient, so
the splitter only ever errs the first way.

Every trigger's own text passes through here (`plangate.trigger.Trigger`), whatever front
or intake made it: a message pasted into a chat, or mail forwarded from a client in any
language, is not its principal's words because the front did not cut it.

    pieces = split_pieces(text)   # [] when it is all the principal's own words

Pieces are consecutive and join back to exactly the text they were cut from.
"""

from __future__ import annotations

import re
from typing import Literal

from plangate.identity import canonical_address

Kind = Literal["own", "quoted", "forwarded"]

#: Markers are looked for in at most this many characters of a line (its start, or for an
#: attribution its end), so a hostile line costs linear time.
_WINDOW = 200
#: Lines an attribution may be wrapped over (a display name of ~4,000 characters).
_CLIMB = 50
#: Lines of someone else's words after a text that are read with it (`split_pieces`).
_LOOKAHEAD = 8
#: Foreign segments one text may start; later markers extend the last one (still foreign).
MAX_STARTS = 200

#: Space a quote marker may stand after: any Unicode space but a line break (a no-break
#: space, as HTML made text and webmail copies give it; an ideographic space) and the
#: zero-width characters.
LEAD = "(?:[^\\S\n]|[\u200b-\u200d\u2060\ufeff])*"
#: A quote marker: `>`, its fullwidth form `＞` (Japanese mailers quote with it), or `&gt;`
#: as chat platforms' APIs send it (Slack's, for one).
MARK = "(?:>|\uff1e|&gt;)"
_QUOTED = re.compile(LEAD + MARK)
_CLOCK = r"(?<![\d:])\d{1,2}:\d\d(?!\d)"
#: The header a chat app puts on a message copied out of it, in whatever app, locale or
#: display name ("[03/11/2026, 10:02] Eve: ...", "3/11/26, 10:02\u202fAM - Eve: ...", "Eve
#: — Today at 10:02", "[Eve] [오전 10:02] ...", "Eve Smith  10:02 AM"): a line with a clock
#: time that either ends it (an AM/PM after it at most) with the message on the next line,
#: or is followed closely by the " - ", "] " or ": " that puts the message on the same line.
#: The name before it is the sender's to choose, so no shape of it is asked for. An owner's
#: line that looks the same ("Moved to 10:30" above more lines) makes the rest of the text
#: someone else's: a question more, never a stranger's words as the principal's.
STAMP = (LEAD + r"[^\n]{0,200}?" + _CLOCK
         + r"(?:(?:\s?[AaPp]\.?\s?[Mm]\.?)?[^\S\n]*\r?\n(?=[^\n]*\S)"
         + r"|[^\n]{0,24}?(?:\s[-\u2013\u2014]\s|\]\s|:\s))")
_STAMP = re.compile(STAMP, re.M)
_ATTRIBUTION = re.compile(
    r"(?:wrote|writes|said|schrieb|a\s+[ée]crit|escribi[óo]|ha\s+scritto|scrisse|schreef|skrev|"
    r"kirjoitti|napisa[łl]a?|napsal[a]?|escreveu|написал[аи]?|寫道|写道|が書きました)\s*[:：]\s*$",
    re.IGNORECASE)
# An attribution in a language not listed above: a line ending in ":" right before quoted
# lines, with an address in angle brackets or a date or time in it.
_INTRO = re.compile(r"[:：]\s*$")
# An attribution whose verb is not at its end, or that has none ("Am ... schrieb Kim <addr>:",
# "2026年11月3日 Kim <addr>:"): a line ending in an address in angle brackets and a colon,
# with or without quoted lines under it (an HTML mail made text has no `>`).
_NAMED_INTRO = re.compile(r"<[^<>\n]{1,200}@[^<>\s]{1,200}>\s*[:：]\s*$")
_DATED = re.compile(r"<[^<>@\s]+@[^<>\s]+>|\b(?:19|20)\d\d\b|\b\d{1,2}:\d\d\b")
_OPENER = re.compile(r"\s*(?:on|am|le|el|il|op|den|em|w\s+dniu|dne|в)\s", re.IGNORECASE)
_RULE = re.compile(r"\s*[-=_*~]{2,}")
# "---------- Anything ----------": Gmail's separator, whatever the language.
_FRAMED = re.compile(r"\s*-{5,}[^-\n]{1,80}-{5,}\s*$")
_FORWARD_WORDS = (r"forward|weitergeleitet|transf|reenviado|inoltrato|doorgestuurd|encaminhad|"
                  r"vidarebefordra|videresend|välitetty|przekazan|пересл|转发|轉寄|転送|전달")
_SEPARATOR_WORDS = re.compile(
    _FORWARD_WORDS + r"|original|urspr[üu]ngliche|d'origine|originale|oorspronkelijk|исходн|原始",
    re.IGNORECASE)
_FORWARDED = re.compile(_FORWARD_WORDS, re.IGNORECASE)
_BEGIN_FORWARD = re.compile(
    r"\s*(?:begin\s+forwarded\s+message|anfang\s+der\s+weitergeleiteten\s+nachricht|"
    r"d[ée]but\s+du\s+message\s+r[ée]exp[ée]di[ée]|inicio\s+del\s+mensaje\s+reenviado|"
    r"inizio\s+messaggio\s+inoltrato)\s*[:：]?\s*$", re.IGNORECASE)
_HEADER = re.compile(
    r"[ \t]*\*{0,2}[ \t]*(from|sent|date|to|cc|bcc|subject|reply-to|von|gesendet|datum|an|"
    r"betreff|de|envoy[ée]|[àa]|objet|para|enviado|asunto|fecha|da|inviato|oggetto|van|"
    r"verzonden|aan|onderwerp|fr[åa]n|skickat|till|[äa]mne|fra|sendt|til|emne|od|wys[łl]ano|"
    r"do|temat|от|отправлено|кому|тема|enviada\s+em|assunto|l[äa]hett[äa]j[äa]|l[äa]hetetty|"
    r"vastaanottaja|aihe|odesl[áa]no|komu|p[řr]edm[ěe]t|kimden|g[öo]nderildi|kime|konu|"
    r"差出人|送信日時|宛先|件名|发件人|发送时间|收件人|主题|寄件者|寄件日期|收件者|主旨|"
    r"보낸\s*사람|보낸\s*날짜|받는\s*사람|제목)[ \t]*\*{0,2}[ \t]*[:：]",
    re.IGNORECASE)
_FROM_KEYS = frozenset({"from", "von", "de", "da", "van", "från", "fran", "fra", "od", "от",
                        "lähettäjä", "lahettaja", "kimden", "差出人", "发件人", "寄件者", "보낸 사람",
                        "보낸사람"})
_SENT_OR_SUBJECT = frozenset({
    "sent", "subject", "gesendet", "betreff", "envoyé", "envoye", "objet", "enviado", "asunto",
    "inviato", "oggetto", "verzonden", "onderwerp", "skickat", "ämne", "amne", "sendt", "emne",
    "wysłano", "wyslano", "temat", "отправлено", "тема", "assunto", "lähetetty", "lahetetty",
    "aihe", "odesláno", "odeslano", "předmět", "predmet", "gönderildi", "gonderildi", "konu",
    "送信日時", "件名", "发送时间", "主题", "寄件日期", "主旨", "보낸 날짜", "보낸날짜", "제목"})
# Any "Word: value" line: a run of them is a header block in a language not listed above
# (`_unknown_header_block`).
_ANY_HEADER = re.compile(r"[ \t]*\*{0,2}[^\s:：*]{1,24}(?:[ \t][^\s:：*]{1,24})?\*{0,2}[ \t]*[:：]")
# A line that is only a rule (Outlook puts 32 underscores above a forwarded header block).
_LONG_RULE = re.compile(r"[ \t]*(?:_{8,}|-{8,}|={8,}|\*{8,}|~{8,})[ \t]*\r?\n?\Z")
#: "Re:", "Fwd:", "AW:", "WG:", "TR:", ... (after list tags like "[team]"): the subject is the
#: earlier message's, written by its sender.
REPLY_PREFIX = re.compile(
    r"\s*(?:\[[^\]]{0,40}\]\s*)*(?:(re|aw|sv|vs|antw|odp|r|ynt|回复|答复|回覆)|"
    r"(fwd?|wg|tr|enc|rv|doorst|i|vl|pd|ilt|转发|轉寄|転送))\s*(?:\[\d+\]|\(\d+\))?\s*[:：]",
    re.IGNORECASE)
#: A prefix of a language not listed above ("ΑΠ:", "ΠΡΘ:", "TOVÁBB:"): one word and a colon.
ANY_PREFIX = re.compile(r"\s*(?:\[[^\]]{0,40}\]\s*)*[^\W\d_]{1,12}\s*[:：]")
_AT = re.compile(r"\S@\S")
_ADDRESS = re.compile(r"[\w.%+'\-]+@[\w\-]+(?:\.[\w\-]+)+")


def lines_of(text: str) -> list[str]:
    """Lines with their endings, split at "\\n" only: a mail client quotes by "\\n" lines,
    so a U+2028 or a bare CR inside a quoted line must not start an unquoted one."""
    parts = text.split("\n")
    out = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        out.append(parts[-1])
    return out


def _names_address(line: str) -> bool:
    """Whether a line names a mail address anywhere in it: an "@" with no space on either
    side (linear time on any line). Whatever the earlier sender made of their address (a
    quoted local part, `"eve smith"@...`; a domain literal; a display name as long as they
    like in front of it), an address has text right before and right after its "@"."""
    return _AT.search(line) is not None


def author_in(text: str) -> str:
    """The first mail address in `text`, canonical, or "" (unknown)."""
    found = _ADDRESS.search(text[:4 * _WINDOW]) or _ADDRESS.search(text[-4 * _WINDOW:])
    if not found:
        return ""
    canonical = canonical_address(found[0])
    return canonical if len(canonical) <= 320 else ""


def _marker(lines: list[str], i: int, *, foreign: bool,
            floor: int) -> tuple[int, Kind, str] | None:
    """A foreign part starting at line `i` (or, for an attribution, a few lines above it,
    never above `floor`): its first line, kind and claimed author."""
    line = lines[i]
    head = line[:_WINDOW]
    if _QUOTED.match(head):
        if foreign:
            return None
        return i, "quoted", author_in(line) if _ATTRIBUTION.search(line[-_WINDOW:]) else ""
    if not foreign and _STAMP.match(head + (lines[i + 1][:_WINDOW] if i + 1 < len(lines) else "")):
        return i, "quoted", author_in(line)
    if _ATTRIBUTION.search(line[-_WINDOW:]) or _NAMED_INTRO.search(line[-_WINDOW:]) or (
            _INTRO.search(line[-_WINDOW:]) and _DATED.search(line[:_WINDOW] + " " + line[-_WINDOW:])
            and _follows(lines, i, _QUOTED)):
        first = _attribution_start(lines, i, floor)
        return first, "quoted", author_in("".join(lines[first:i + 1]))
    if (_BEGIN_FORWARD.match(head) or (_RULE.match(head) and _SEPARATOR_WORDS.search(head))
            or _FRAMED.match(head)):
        kind: Kind = "forwarded" if _FORWARDED.search(head) or _BEGIN_FORWARD.match(head) \
            else "quoted"
        return i, kind, _block_author(lines, i + 1)
    # (An unlisted block does not start right under a "Word: value" line: it would have
    # started there, and inside a forwarded part that is the same block going on.)
    if _header_block(lines, i) or (_unknown_header_block(lines, i)
                                   and not (i and _ANY_HEADER.match(lines[i - 1][:_WINDOW]))):
        return i, "forwarded", _block_author(lines, i)
    if _LONG_RULE.match(head) and _follows(lines, i, _ANY_HEADER):
        # Outlook's plain-text rule above a header block, in any language.
        return i, "forwarded", _block_author(lines, i + 1) or author_in("".join(lines[i + 1:i + 4]))
    return None


def _follows(lines: list[str], i: int, start: re.Pattern[str]) -> bool:
    """Whether a line starting as `start` follows line `i`, at most one blank line between
    (quoted lines after an attribution, a "Word: value" line under a rule)."""
    for line in lines[i + 1:i + 3]:
        if start.match(line[:_WINDOW]):
            return True
        if line.strip():
            return False
    return False


def _attribution_start(lines: list[str], i: int, floor: int) -> int:
    """An attribution may be wrapped over many lines: the display name in it is the earlier
    sender's to choose, as long and with whatever words they like (a wrapped line of it may
    even start as "on ..."). It starts at the topmost "On ..."-like line of its paragraph
    (the lines just above it, never across a blank line, at most `_CLIMB`), or, with none,
    at the top of that paragraph."""
    top = i
    while top - 1 >= max(floor, i - _CLIMB) and lines[top - 1].strip():
        top -= 1
    return next((j for j in range(top, i + 1) if _OPENER.match(lines[j][:_WINDOW])), top)


def _header_key(line: str) -> str | None:
    found = _HEADER.match(line[:_WINDOW])
    return " ".join(found[1].casefold().split()) if found else None


def _header_block(lines: list[str], i: int) -> bool:
    """A From-like header line followed closely by other header lines, and looking like a
    message header (an address, or a Sent or Subject line): not "From: Paris / To: Berlin"."""
    key = _header_key(lines[i])
    if key not in _FROM_KEYS:
        return False
    others = {k for k in map(_header_key, lines[i + 1:i + 6]) if k and k not in _FROM_KEYS}
    return bool(others) and ("@" in lines[i] or bool(others & _SENT_OR_SUBJECT))


def _unknown_header_block(lines: list[str], i: int) -> bool:
    """Three "Word: value" entries in a row, starting here, one naming a mail address (in
    angle brackets, Outlook's `[mailto:...]`, or bare) or a date or time (Outlook names a
    sender it resolved by display name only), or four entries whatever they hold. An entry
    may go on over lines that do not look like a header: a format=flowed client (RFC 3676)
    soft-breaks a long line (the earlier sender's subject) after a space, and a folded
    header goes on indented; and up to two other lines may stand between entries."""
    entries = gaps = 0
    named = False
    last = ""
    for j in range(i, len(lines)):  # linear overall: a run of continuations ends every scan
        line = lines[j]
        if _ANY_HEADER.match(line[:_WINDOW]):
            if entries == 4:
                break
            entries += 1
        elif not (entries and line not in ("\n", "\r\n") and (last.endswith((" \n", " \r\n")) or line[:1] in " \t")):
            # Up to two other lines inside a block: the earlier sender's subject may hold
            # line breaks (an RFC 2047 encoded word decodes to them) that its client keeps.
            if not entries or gaps == 2:
                break
            gaps += 1
        named = named or _names_address(line) or _DATED.search(line) is not None
        last = line
    return entries == 4 or (entries == 3 and named)


def _block_author(lines: list[str], i: int) -> str:
    """The author a forwarded header block (at or just after line `i`) names in its From."""
    for line in lines[i:i + 8]:
        if _header_key(line) in _FROM_KEYS:
            return author_in(line)
    return ""


def split_pieces(text: str, followed_by: tuple[str, str] | None = None) -> list[tuple[Kind, str, str]]:
    """(kind, claimed author, text) pieces: the principal's own words, then the quoted or
    forwarded parts after them; `[]` when the text has no such part.

    `followed_by`: (kind, text) of someone else's words that come right after `text` (a
    part a front or intake already marked). Its first lines are read, never cut, so the
    text's last lines are judged with what follows them: an attribution right above a
    quoted part, a header block whose first lines a front left outside the forwarded part."""
    lines = lines_of(text)
    look = lines
    if followed_by is not None:
        kind_after, after = followed_by
        below = lines_of(after)[:_LOOKAHEAD] or ["\n"]
        # A quoted part's lines are quoted, whether or not the front kept their `>`.
        look = lines + (["> " + line for line in below] if kind_after == "quoted" else below)
    starts: list[tuple[int, Kind, str]] = []  # (first line, kind, author)
    for i in range(len(lines)):
        if len(starts) >= MAX_STARTS:
            break
        found = _marker(look, i, foreign=bool(starts),
                        floor=starts[-1][0] + 1 if starts else 0)
        if found is None:
            continue
        if starts and not "".join(lines[starts[-1][0] + 1:i]).strip():
            # A separator and the header block under it are one forwarded part.
            first, kind, author = starts[-1]
            starts[-1] = (first, kind, author or found[2])
        else:
            starts.append(found)
    if not starts:
        return []
    pieces: list[tuple[Kind, str, str]] = []
    bounds = [s[0] for s in starts] + [len(lines)]
    if bounds[0] > 0:
        pieces.append(("own", "", "".join(lines[:bounds[0]])))
    for (first, kind, author), end in zip(starts, bounds[1:], strict=True):
        pieces.append((kind, author, "".join(lines[first:end])))
    return pieces


def passed_on_subject(subject: str) -> bool:
    """Whether a subject starts as a reply's or a forward's does ("Re:", "Fwd:", or one word
    and a colon in a language not listed): the earlier message's subject, its sender's words.
    A subject without one was written by the sender (clients add a prefix when they reply
    or forward)."""
    return REPLY_PREFIX.match(subject) is not None or ANY_PREFIX.match(subject) is not None
