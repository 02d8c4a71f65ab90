package ui

import "testing"

func TestTheRoomSeesWhereTheLearnerIsAndMovesThem(t *testing.T) {
	m, lab := newTestApp(t, 100, 30, Options{})
	if st := m.RoomStatus(); st.Lesson != "" {
		t.Fatalf("in the catalog the status names a lesson: %+v", st)
	}
	settle(t, m, m.Goto(GotoMsg{Lesson: "veth", Step: 1}))
	st := m.RoomStatus()
	if st.Lesson != "veth" || st.Step != 1 || st.Steps != 3 || st.Running {
		t.Fatalf("after goto veth step 2: %+v", st)
	}
	if len(lab.prepared) == 0 || lab.prepared[len(lab.prepared)-1] != 1 {
		t.Fatalf("the lab was not rebuilt up to step 2: prepared %v", lab.prepared)
	}
	press(t, m, keyEnter) // run step 2
	st = m.RoomStatus()
	if !st.StepPassed || st.Passed != 1 || st.Failed != 0 {
		t.Fatalf("after running step 2: %+v", st)
	}
	// The same lesson, another step: no reopening, the lab rebuilt to it.
	settle(t, m, m.Goto(GotoMsg{Lesson: "veth", Step: 0}))
	if st := m.RoomStatus(); st.Step != 0 || st.StepPassed {
		t.Fatalf("after goto veth step 1: %+v", st)
	}
	settle(t, m, m.Goto(GotoMsg{Lesson: "broken", Step: 0}))
	press(t, m, keyEnter)
	if st := m.RoomStatus(); st.Lesson != "broken" || !st.StepFailed || st.Failed != 1 {
		t.Fatalf("a failed check is not reported: %+v", st)
	}
}
