"""The form's Plan selector loads a named plan; "Save as plan…" writes the form as one."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Button, Checkbox, Input, Select, SelectionList

from storage.config import NamedPlan, default_text, load_config, save_plan
from tests.tui.helpers import make_app, messages, wait_for
from tui.screens.save_plan import SavePlanScreen
from tui.widgets.plan_form import FormDefaults, PlanForm

WEEKLY = NamedPlan(
    "weekly", spend="700", duration="7d", tranches=7, venues=("kraken", "coinbase"), jitter=True
)


async def test_choosing_a_plan_fills_the_form_and_saving_writes_it_to_the_config(
    tmp_path: Path,
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(default_text(), encoding="utf-8")
    app = make_app(
        tmp_path,
        defaults=FormDefaults(amount="0.5", duration="2h", plans={"weekly": WEEKLY}),
        plan_saver=lambda named: save_plan(config, named),
    )
    async with app.run_test(size=(120, 40)) as pilot:
        form = app.main.query_one(PlanForm)
        form.query_one("#plan", Select).value = "weekly"
        await pilot.pause()
        assert form.query_one("#amount", Input).value == ""
        assert form.query_one("#spend", Input).value == "700"
        assert form.query_one("#duration", Input).value == "7d"
        assert form.query_one("#tranches", Input).value == "7"
        assert form.query_one("#jitter", Checkbox).value
        assert sorted(form.query_one("#venues", SelectionList).selected) == ["coinbase", "kraken"]
        assert form.plan is not None and form.plan.spend == 700 and form.plan.tranches == 7

        # Change it, save it under a new name.
        form.query_one("#tranches", Input).value = "14"
        await pilot.pause()
        await pilot.click("#save-plan")
        await wait_for(pilot, lambda: isinstance(app.screen, SavePlanScreen))
        name = app.screen.query_one("#plan-name", Input)
        assert name.value == "weekly"  # the plan chosen: saving replaces it unless renamed
        name.value = ""
        await pilot.press(*"twice-weekly", "enter")
        await wait_for(pilot, lambda: any("Plan saved" in m for m in messages(app)))
        saved = load_config(config, {}).plans
        assert saved["twice-weekly"] == NamedPlan(
            "twice-weekly",
            spend="700",
            duration="7d",
            tranches=14,
            quote="USD",
            venues=("coinbase", "kraken"),
            mode="single",
            jitter=True,
        )
        assert "weekly" not in saved  # only what was saved is in the file
        assert form.query_one("#plan", Select).value == "twice-weekly"
        assert "# btc-dca configuration." in config.read_text(encoding="utf-8")


async def test_save_waits_for_a_valid_plan_and_a_name_it_can_write(tmp_path: Path) -> None:
    saved: list[NamedPlan] = []
    app = make_app(tmp_path, defaults=FormDefaults(amount="abc"), plan_saver=saved.append)
    async with app.run_test(size=(120, 40)) as pilot:
        assert app.main.query_one("#save-plan", Button).disabled
        form = app.main.query_one(PlanForm)
        form.query_one("#amount", Input).value = "0.1"
        form.query_one("#duration", Input).value = "1h"
        await pilot.pause()
        await pilot.click("#save-plan")
        await wait_for(pilot, lambda: isinstance(app.screen, SavePlanScreen))
        await pilot.press(*"my plan", "enter")
        await pilot.pause()
        assert isinstance(app.screen, SavePlanScreen) and not saved
        assert "letters, digits" in str(app.screen.query_one("#plan-name-note").render())
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, SavePlanScreen) and not saved


async def test_saving_under_a_standing_plans_name_says_it_replaces_it(tmp_path: Path) -> None:
    saved: list[NamedPlan] = []
    defaults = FormDefaults(amount="0.1", duration="1h", unlisted=("mondays",))
    app = make_app(tmp_path, defaults=defaults, plan_saver=saved.append)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.click("#save-plan")
        await wait_for(pilot, lambda: isinstance(app.screen, SavePlanScreen))
        await pilot.press(*"mondays")
        await pilot.pause()
        note = str(app.screen.query_one("#plan-name-note").render())
        assert note == "replaces [plans.mondays] in the config file"
