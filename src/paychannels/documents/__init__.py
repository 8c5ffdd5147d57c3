"""What people read: the roster format, printable bilingual HTML, public notices."""
