"""Review: draft letters in their thread, version by version, in English and in Welsh.

- `draft_versions`: a version made from the records, checked, and what changed since the
  last; `drafts`: a draft's state, approvals, change requests, comments;
- `tally`: where a review stands; `translation`: the Welsh text owed, uploaded, approved;
- `draft_outbox`: what versions and decisions put in the outbox (publishing `Posted`);
- `version_file`: a version as a Word file; `file_links`: download links to a version's
  files (its letter, its translation pack, a final file of the letter issued from it);
- `issuing`: the letter issued (dated, its final files kept) and published;
- `final_files`: an issued letter's final files, English and Welsh, accessible documents;
- `overview`: where every authority's letter of a year stands, with the year's counts;
  `overview_file`: the overview as CSV, owed to the person who asked through the outbox.

May import `bot.letters`, `bot.records`, `bot.access`, `bot.delivery`, the frame and
`db`; never `bot.reminders` (it follows the review's events).
"""
