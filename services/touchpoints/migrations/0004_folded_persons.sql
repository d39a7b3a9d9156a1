-- The persons a merge folded into the survivor's, on the merged customer's row of the read
-- model, as '<person_id>:<into_person_id>' (CustomersMerged.folded_persons; any later event of
-- the customer, such as its unmerge, replaces them): a touchpoint recorded for the merged
-- customer after the merge that names one names the survivor's person, as the touchpoints
-- the merge moved do.
ALTER TABLE customers ADD COLUMN folded_persons text[] NOT NULL DEFAULT '{}';
