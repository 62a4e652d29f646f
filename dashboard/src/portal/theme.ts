/**
 * The portal's look: accent colour, logo, light or dark. Defaults come from the application's metadata
 * (portal.accent, portal.logo, portal.theme, via the session), overridden by the link's parameters
 * (#token=...&accent=%23rrggbb&logo=https://...&theme=dark). Every value is checked here, the one place they
 * reach the page: the accent goes into CSS, so only #rgb / #rrggbb; the logo is an https URL or a path on
 * this host (the portal's CSP allows https: images and nothing else foreign); the theme is light, dark or auto.
 */

export type Scheme = 'light' | 'dark' | 'auto';

export interface Theme {
  accent?: string;
  logo?: string;
  scheme: Scheme;
}

/** Theme settings as given (metadata or URL parameters), unchecked. */
export type ThemeInput = { accent?: string | null; logo?: string | null; theme?: string | null };

const HEX = /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i;

export function validAccent(value: string | null | undefined): string | undefined {
  return value && HEX.test(value) ? value : undefined;
}

export function validLogo(value: string | null | undefined): string | undefined {
  if (!value || value.length > 2048) return undefined;
  if (value.startsWith('/') && !value.startsWith('//')) return value;
  try {
    return new URL(value).protocol === 'https:' ? value : undefined;
  } catch {
    return undefined;
  }
}

export function validScheme(value: string | null | undefined): Scheme | undefined {
  return value === 'light' || value === 'dark' || value === 'auto' ? value : undefined;
}

/** The theme from its sources, later ones winning; what is invalid in one source is ignored (the earlier one stays). */
export function themeOf(...sources: ThemeInput[]): Theme {
  const theme: Theme = { scheme: 'auto' };
  for (const source of sources) {
    const accent = validAccent(source.accent);
    const logo = validLogo(source.logo);
    const scheme = validScheme(source.theme);
    if (accent) theme.accent = accent;
    if (logo) theme.logo = logo;
    if (scheme) theme.scheme = scheme;
  }
  return theme;
}

/** Black or white, whichever reads better on the accent (WCAG relative luminance). */
function textOn(hex: string): string {
  const digits = hex.length === 4 ? [...hex.slice(1)].map((d) => d + d) : [hex.slice(1, 3), hex.slice(3, 5), hex.slice(5, 7)];
  const [r = 0, g = 0, b = 0] = digits.map((d) => {
    const c = parseInt(d, 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.179 ? '#000' : '#fff';
}

/** Sets the accent and the colour scheme on the page (the stylesheet's colours follow color-scheme). */
export function applyTheme(theme: Theme): void {
  const root = document.documentElement.style;
  if (theme.accent) {
    root.setProperty('--accent', theme.accent);
    root.setProperty('--on-accent', textOn(theme.accent));
  } else {
    root.removeProperty('--accent');
    root.removeProperty('--on-accent');
  }
  root.setProperty('color-scheme', theme.scheme === 'auto' ? 'light dark' : theme.scheme);
  document.documentElement.dataset.theme = theme.scheme;
}
