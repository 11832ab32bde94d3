"""The market lake: recorded order books, and the recorder that writes them."""
