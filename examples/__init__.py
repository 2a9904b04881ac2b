"""Small apps that show how to protect routes with twostep."""
