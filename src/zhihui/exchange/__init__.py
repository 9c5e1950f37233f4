"""Exchange (交换体系, Art. 46, 7, 40-41, 48): departments share data with each other through
grants, the public applies for conditionally opened data, subscribers hear of every new
version (signed webhooks, a changes feed), users give feedback, and the exchange is counted.
Every read of conditionally shared data passes ``handlers.through_grant``."""
