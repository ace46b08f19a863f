"""What the agent's home pages and the explorer share: vendored htmx, templates, security headers.

Server-rendered pages with progressive enhancement: every page works as plain HTML forms and links;
htmx (vendored, no Node build) swaps fragments and follows server-sent events where it is loaded.
"""
