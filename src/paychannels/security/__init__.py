"""What comes in is checked, what goes out is masked: text rules, verifiers, masking."""
