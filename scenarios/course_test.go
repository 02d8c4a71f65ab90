package scenarios

import "testing"

// Every lesson of the built-in catalog lints without a warning, is part of
// the course, and has a step the learner does.
func TestTheCatalogIsACourse(t *testing.T) {
	list, errs := Catalog()
	for _, err := range errs {
		t.Error(err)
	}
	if list[0].ID != "hello" {
		t.Errorf("the course starts with %s, want hello", list[0].ID)
	}
	predictions := 0
	for _, sc := range list {
		for _, w := range sc.Warnings {
			t.Errorf("%s: %v", sc.ID, w)
		}
		if sc.Group == OtherPart {
			t.Errorf("%s is in no part of the course", sc.ID)
		}
		hands, challenges, predicts := 0, 0, 0
		for _, st := range sc.Steps {
			if st.HandsOn() {
				hands++
			}
			if st.Challenge() {
				challenges++
			}
			if st.Predict != nil {
				predicts++
			}
		}
		if hands == 0 || challenges == 0 {
			t.Errorf("%s: %d hands-on step(s), %d challenge(s): every lesson has at least one of each", sc.ID, hands, challenges)
		}
		if predicts > 0 {
			predictions++
		}
	}
	if predictions < 8 {
		t.Errorf("%d lessons ask a prediction, want at least 8", predictions)
	}
}
