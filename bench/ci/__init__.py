"""CI commands on results.json: compare (the gate) and its PR comment, archive, trend."""
