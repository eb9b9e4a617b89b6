"""Which logged decisions count as approved: the one definition behind approval rates, business cost,
fairness, vintages and estimated cost.

A decision's final outcome is the officer's review where there is one (`final_decision`), else the
automated decision. It is approved when that outcome is `approved`; anything else (`refused`, and a
`review` no officer has settled yet: no loan is granted while it waits) is not. Every query reads it
through APPROVED over the decision log aliased `d`.
"""

APPROVED = "(coalesce(d.final_decision, d.decision) = 'approved')"
