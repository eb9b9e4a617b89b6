"""Which logged decisions count as approved: the one definition behind approval rates, business cost,
fairness, vintages and estimated cost.

A decision is approved when its value is `approved`; anything else (`refused`, and `review` until an
officer settles it) is not. Every query reads it through APPROVED over the decision log aliased `d`, so
reading an officer's final decision instead is a change here only.
"""

APPROVED = "(d.decision = 'approved')"
