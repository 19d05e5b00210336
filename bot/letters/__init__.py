"""The annual performance review letter: assembled from the records, checked, and
rendered as text, Markdown and Word (Slack's blocks and Teams' cards are the doors').

- `assemble`: one authority's letter for one review year, in a fixed number of queries;
- `check`: what an officer would still have to add; `render`: templates to elements;
- `docx`: the Word document in CIW's template (`template`: that template, checked);
- `translation_pack`: the approved letter beside an empty Cymraeg column, and reading the
  translator's file back; `export`: the letter without a chat platform (`draft-letter`);
- `final`: the letter as issued: dated the issue date, and the Welsh letter's elements
  from the approved Welsh paragraphs.

May import `bot.records`, the frame (`bot.settings`, `bot.render`, `bot.runtime`) and
`db`; never the review of drafts (`bot.review` uses the letters, not the other way).
"""
