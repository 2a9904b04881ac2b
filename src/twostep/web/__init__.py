"""HTTP: the JSON API, server-rendered pages, and the app factory."""
